"""kpredict.features"""
